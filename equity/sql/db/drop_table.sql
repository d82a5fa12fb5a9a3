-- A working table the build no longer needs. Slot: table.
drop table if exists {table}
