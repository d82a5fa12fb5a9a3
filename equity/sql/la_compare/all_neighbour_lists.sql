-- Every statistical-neighbour list held (whose list, and its members in rank order).
select la_code, la_name, neighbour_code, neighbour_name, rank from la_neighbour order by la_code, rank
