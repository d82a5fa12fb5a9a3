-- DfE headline results: the years the file holds ('Academic Year' 2016 is the year ending in 2016).
select distinct try_cast(trim("Academic Year") as integer) y from {table}
