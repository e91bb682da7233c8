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
