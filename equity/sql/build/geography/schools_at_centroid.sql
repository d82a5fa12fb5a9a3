-- Schools with no postcode coordinates, placed at their LSOA's centroid (check "schools located at
-- their LSOA centroid").
select count(*) n from school where location_source = 'lsoa_centroid'
