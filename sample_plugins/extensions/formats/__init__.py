"""A subpackage, two levels down: pike walks packages to any depth."""
