"""The pages people use: server-rendered HTML over the same services as the API.

``security.py`` sets the headers, CSRF protection and error pages; ``signin.py`` turns a
signed-in browser into an :class:`~scheduler.access.Actor`; ``pages.py`` holds the pages
and mounts the board's, admin's, nurse's and clinician's. Pages never re-implement a
rule: they call the services and show their answers.
"""
