"""The words the project store records, defined once for the engine, the CLI and the GUI: the filter's
verdicts, the review flags, and the reserved keys of a region's stored scores."""

from __future__ import annotations

PRODUCT, SKIPPED, UNCERTAIN, ERROR = "product", "skipped", "uncertain", "error"
VERDICTS = (PRODUCT, SKIPPED, UNCERTAIN, ERROR)

PICK, REJECT = "pick", "reject"
FLAGS = (PICK, REJECT)  # Lightroom's P / X; None is "unflagged"

# Beside one probability per product class, a region's scores hold the best "other" (background) prompt
# and the sum of all of them.
OTHER, OTHER_TOTAL = "other", "other_total"

# Stars and colour labels, as Lightroom keys them: 0-5 sets the rating, 6-9 toggles red/yellow/green/blue.
# Label names are Lightroom's default label set, which is what it writes as `xmp:Label` ("Red", ...).
RATINGS = (0, 1, 2, 3, 4, 5)
RED, YELLOW, GREEN, BLUE, PURPLE = "red", "yellow", "green", "blue", "purple"
LABELS = (RED, YELLOW, GREEN, BLUE, PURPLE)
LABEL_KEYS = {6: RED, 7: YELLOW, 8: GREEN, 9: BLUE}
