"""The pages people use: server-rendered HTML over the same services as the API.

``security.py`` sets the headers, CSRF protection and error pages; ``signin.py`` turns a
signed-in browser into an :class:`~scheduler.access.Actor`; ``routes.py`` holds the
pages. Pages never re-implement a rule: they call the services and show their answers.
"""
