"""The officials' web app: server-rendered pages over the four services' public APIs, with the user's own token."""
