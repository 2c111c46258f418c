"""RegTech (监管科技): real-time monitoring of fund flows, alerts and cases, regulatory reports, supervision data."""
