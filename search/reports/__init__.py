"""What a search found: queries over job documents, tables for the terminal, and plots."""
