-- Tables of the database that record the file each row came from (source_file), with the columns that
-- say how recent a row is: the academic year (start_year) and any date column.
with tables as (
    select table_name from information_schema.columns c
    join information_schema.tables t using (table_catalog, table_schema, table_name)
    where c.column_name = 'source_file' and t.table_type = 'BASE TABLE' and t.table_schema = 'main')
select c.table_name,
       list(c.column_name order by c.column_name) filter (where c.column_name = 'start_year') as year_columns,
       list(c.column_name order by c.column_name) filter (where c.data_type in ('DATE', 'TIMESTAMP')) as date_columns
from information_schema.columns c
where c.table_schema = 'main' and c.table_name in (select table_name from tables)
  and (c.column_name = 'start_year' or c.data_type in ('DATE', 'TIMESTAMP'))
group by c.table_name
order by c.table_name
