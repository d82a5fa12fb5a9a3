-- An LG Inform indicator file: the indicators it holds.
select distinct indicator from {table}
