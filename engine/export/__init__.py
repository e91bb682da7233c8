"""Hand-off files for other tools: masks at the original size, cut-outs, COCO and LabelMe JSON, a
manifest, export presets and their preflight (engine/export/run.py puts them together)."""
