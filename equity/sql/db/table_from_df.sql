-- A table made from a data frame registered as _df_tmp. Slot: table.
create or replace table {table} as select * from _df_tmp
