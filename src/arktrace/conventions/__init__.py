"""Attribute names and the writers of the conventions arktrace records in.

``names`` holds every attribute name a call's span carries, grouped by the convention that defines
it (OTel GenAI, OpenInference, OTel's general ones, arktrace's own); ``backend_extras`` writes the
names only one backend reads (Langfuse's, MLflow's). Nothing here imports the lifecycle.
"""
