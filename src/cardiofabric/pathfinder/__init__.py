"""The synthetic Pathfinder network and its example patient."""
