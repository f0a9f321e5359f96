"""The reader's library as an OPDS 1.2 catalog (Atom), for reading apps."""
