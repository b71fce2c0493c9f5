"""The read-only web site and Atom feeds, served by the bot's one HTTP server.

`server.py` is the aiohttp application (health, readiness, the access token, security
headers, routes that adapters contribute), `pages.py` the HTML pages and the signed-link
actions, `feeds.py` the Atom feeds; `templates/` are Jinja2 templates with autoescaping on.
"""
