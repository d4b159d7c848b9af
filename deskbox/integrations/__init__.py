"""Other harnesses' protocols onto deskbox sandboxes (OSWorld's ``desktop_env``)."""
