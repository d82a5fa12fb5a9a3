-- School coordinates into school_coordinates. Parameter: $file.
-- Slots: table (the staging table) and one per file column it reads (an optional column the file
-- lacks is null). Numbers are read with cell_value, text with nullif(trim(...)).
insert into school_coordinates by name
select try_cast(trim({URN}) as integer) as urn, cell_value({LATITUDE}) as lat, cell_value({LONGITUDE}) as lon,
       nullif(trim({PCODE}), '') as postcode, nullif(trim({PHASE}), '') as phase,
       $file as source_file
from {table} where try_cast(trim({URN}) as integer) is not null
