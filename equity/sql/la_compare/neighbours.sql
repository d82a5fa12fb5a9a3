-- Statistical-neighbour lists that involve an LA: as the subject of a list, or as a neighbour in one.
select la_code, la_gss, la_name, neighbour_code, neighbour_gss, neighbour_name, rank, source_file
from la_neighbour
where la_code = $la or neighbour_code = $la
order by la_code, rank
