-- An import of a whole file into the reader's library (POST /imports) makes one import
-- per book it matched; each takes only the entries of its titles.
ALTER TABLE imports ADD COLUMN titles text[];
