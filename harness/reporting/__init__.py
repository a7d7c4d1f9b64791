"""Turns stored records into markdown and figures. Reads records only: never trains or plans."""
