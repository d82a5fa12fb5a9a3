-- The academic years (time_period, trimmed) a statistics-service file holds (slot: table).
select distinct trim(time_period) tp from {table} order by 1;
