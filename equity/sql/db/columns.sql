-- A table's columns, in order (DuckDB's describe). Slot: table.
describe {table}
