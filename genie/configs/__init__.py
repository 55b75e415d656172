"""The Hydra configs of genie-train / genie-dream / genie-prepare, shipped with the package."""
