"""Artifact writers per protocol: the request bodies, configurations, scripts and rules of plan steps.

One module per protocol (oidc, saml, scim, rotation, detection, directory). Every
function returns deterministic text (no dates, no random ids); values an engineer
supplies at run time are ``${NAME}`` placeholders that the step's text names.
"""
