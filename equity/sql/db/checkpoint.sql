-- Everything written to the database file before it is closed and swapped in.
checkpoint
