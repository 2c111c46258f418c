"""The browser console (控制台): server-rendered pages (Jinja2) over the platform's own HTTP API, called
in process with the signed-in person's session token, so every page obeys the same roles, masking,
limits and idempotency as the API. Slice 1 is the customer wallet app under `/app`."""
