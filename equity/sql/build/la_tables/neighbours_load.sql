-- A statistical-neighbour list into la_neighbour_raw, its rank the row's place in the file.
-- Parameter: the file.
insert into la_neighbour_raw select trim(area_code), trim(area_name), cast(_row as integer), ? from {table}
