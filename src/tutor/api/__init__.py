"""The REST API (FastAPI): `create_app` builds it, `tutor serve` runs it with uvicorn."""
