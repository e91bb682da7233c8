# Keep diffusers's .py sources beside the bytecode: torch.jit and inspect read source at run time.
module_collection_mode = "pyz+py"
