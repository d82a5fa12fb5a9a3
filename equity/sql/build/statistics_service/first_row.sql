-- The first data row of a staging table (slot: table).
select min(_row) r from {table};
