"""The frontend's side in the tests: the PouchDB client (client.js), the page driver
(browser.js) and what both need on the server (members.py)."""
