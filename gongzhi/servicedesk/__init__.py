"""servicedesk — 群众点单 → 社区派单 → 党员接单: residents' requests with deadlines, follow-up calls, a public board, Open311."""
