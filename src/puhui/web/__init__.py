"""The console: customer app, operator and regulator dashboards (static pages over the API)."""
