-- The rows of a data frame registered as _df_tmp, added to a table by column name. Slot: table.
insert into {table} by name select * from _df_tmp
