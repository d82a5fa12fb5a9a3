-- A school census file into school_census. DfE's census dictionaries (2018/19 and 2024/25):
-- PSENELSE = EHC plan, PSENELK = SEN support. Parameters: $start (the start year: the register of
-- bundled sources, else the file name; null if neither), $file.
-- Slots: table (the staging table) and one per file column it reads (an optional column the file
-- lacks is null). Numbers are read with cell_value, text with nullif(trim(...)).
insert into school_census by name
select try_cast(trim({URN}) as integer) as urn, nullif(trim({LA}), '') as la_code,
       cell_value({NOR}) as pupils_on_roll, cell_value({PNUMFSMEVER}) as pct_fsm_ever,
       cell_value({PNUMEAL}) as pct_eal, cell_value({PSENELK}) as pct_sen_support,
       cell_value({PSENELSE}) as pct_ehcp, nullif(trim({SCHOOLTYPE}), '') as school_type,
       $start as start_year, academic_year($start) as academic_year, $file as source_file
from {table} where try_cast(trim({URN}) as integer) is not null
