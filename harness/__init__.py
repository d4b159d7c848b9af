"""What the tests and the benchmarks both run on, and the package never ships.

- ``desktop_session``: a bare desktop on this host (Xvfb and a window manager).
- ``e2b_cloud``: a local stand-in for the slice of the ``e2b`` SDK the e2b backend calls.
- ``e2b_desktop``: the real ``e2b_desktop.Sandbox`` with its commands run on a local desktop.

The stand-ins do the real thing locally and refuse what E2B refuses, so the code under
test meets E2B's contract without E2B's network.
"""
