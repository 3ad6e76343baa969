"""The one permission matrix: every page, htmx route, API route and the socket × every member of the cast."""
