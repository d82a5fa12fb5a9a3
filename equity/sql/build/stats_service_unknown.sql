-- The tokens no rule knows (unknown_token) in one result column of a KS4 statistics-service school
-- file, every row. Slots: table, col (the quoted column). Parameters: $file, $col (the column's name).
insert into unknown_token
select $file, _row, $col, {col} from {table} where cell_status({col}) = 'unknown';
