"""The sandbox's processes: which ones (stack), keeping them alive (supervisor), and
running it all in the foreground (runner).

Standard library only: the supervisor is a long-lived process of its own in every
sandbox, and each imported megabyte there is a megabyte of every sandbox's memory.
"""
