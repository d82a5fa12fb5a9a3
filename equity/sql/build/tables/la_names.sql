-- DfE's LA and region codes into la. Parameter: $file.
-- Slots: table (the staging table) and one per file column it reads (an optional column the file
-- lacks is null). Numbers are read with cell_value, text with nullif(trim(...)).
insert into la by name
select nullif(trim({LEA}), '') as la_code, nullif(trim({LA Name}), '') as la_name,
       nullif(trim({REGION}), '') as region_code, nullif(trim({REGION NAME}), '') as region_name,
       $file as source_file
from {table}
