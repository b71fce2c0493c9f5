"""Chat platform adapters. Platform types never leave their own subpackage."""
