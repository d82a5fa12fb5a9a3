-- A GIAS establishments file into gias_establishment. Parameter: $file.
-- Slots: table (the staging table) and one per file column it reads (an optional column the file
-- lacks is null). Numbers are read with cell_value, text with nullif(trim(...)).
insert into gias_establishment by name
select try_cast(trim({URN}) as integer) as urn, nullif(trim({LA (code)}), '') as la_code,
       nullif(trim({EstablishmentName}), '') as name,
       nullif(trim({TypeOfEstablishment (name)}), '') as type,
       nullif(trim({EstablishmentTypeGroup (name)}), '') as type_group,
       nullif(trim({EstablishmentStatus (name)}), '') as status,
       nullif(trim({PhaseOfEducation (name)}), '') as phase,
       nullif(trim({OpenDate}), '') as open_date, nullif(trim({CloseDate}), '') as close_date,
       nullif(trim({Postcode}), '') as postcode, nullif(trim({LSOA (code)}), '') as lsoa11,
       cell_value({Easting}) as easting, cell_value({Northing}) as northing,
       cell_value({NumberOfPupils}) as pupils_on_roll, cell_value({PercentageFSM}) as pct_fsm,
       nullif(trim({OfstedRating (name)}), '') as ofsted_rating,
       $file as source_file
from {table} where try_cast(trim({URN}) as integer) is not null
