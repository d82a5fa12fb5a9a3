-- The columns of the optional `lsoa` table (another build step adds it); empty when absent.
select column_name from information_schema.columns where table_name = 'lsoa'
