-- The rows of a staging table (a file as read).
select count(*) n from {table}
