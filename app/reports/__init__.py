"""Excel reports: attendance, events and certificates (openpyxl, write-only)."""
