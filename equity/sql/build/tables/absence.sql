-- A school absence file into school_absence. Parameters: $start (as census.sql), $file.
-- Slots: table (the staging table) and one per file column it reads (an optional column the file
-- lacks is null). Numbers are read with cell_value, text with nullif(trim(...)).
insert into school_absence by name
select try_cast(trim({URN}) as integer) as urn, nullif(trim({LA}), '') as la_code,
       cell_value({PERCTOT}) as overall_absence_pct, cell_value({PPERSABS10}) as persistent_absence_pct,
       $start as start_year, academic_year($start) as academic_year, $file as source_file
from {table} where try_cast(trim({URN}) as integer) is not null
