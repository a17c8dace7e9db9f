"""The base: runtime shims and small utilities every part uses. Imports
nothing else of ugate."""
