"""The widgets of the desktop app's main views and dialogs."""
